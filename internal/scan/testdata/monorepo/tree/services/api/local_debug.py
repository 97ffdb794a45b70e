import anthropic  # ignored by services/api/.gitignore
