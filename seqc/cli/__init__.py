"""The command line: the parser, the dispatch and the one error handler (main), one module per command."""
