"""The built-in local engine: runs a planned DAG with DAGMan's semantics on this host."""
