from layerwise.command.cli import main

main()
