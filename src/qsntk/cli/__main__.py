from qsntk.cli import main

main()
