package anthropic

const base = "https://api.anthropic.com"
