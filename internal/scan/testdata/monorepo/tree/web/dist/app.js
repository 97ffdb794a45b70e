fetch("https://api.anthropic.com/v1/messages")
