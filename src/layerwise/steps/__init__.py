"""The workflow's steps, each the body of a rule: a shard of a stage's trials (`shard`, sharing packs
through `claims`), a stage's selection (`selection`), the seed study (`seedstudy`), the evaluation
(`evaluate`, the only step that opens the test split) and the report (`report`)."""
