import anthropic  # re-included by the negation
