"""The flow as a picture (Graphviz DOT) and as a map for the interactive canvas."""
