resource "azurerm_cognitive_account" "oai" {
  name = "anthropic-fan-oai"
  kind = "OpenAI"
}

resource "azurerm_cognitive_deployment" "gpt" {
  model {
    format  = "OpenAI"
    name    = "gpt-4o"
    version = "2024-08-06"
  }
}
