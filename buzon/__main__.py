from buzon.cli import main

main()
