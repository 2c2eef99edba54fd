"""Human checkpoints: the rules that route a case to a person, and (elsewhere) the decisions."""
