terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

variable "model_id" {
  default = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
}

resource "aws_bedrock_provisioned_model_throughput" "claude" {
  provisioned_model_name = "anthropic-fan"
  model_arn              = "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
}

resource "aws_ssm_parameter" "key" {
  name  = "/app/ANTHROPIC_API_KEY"
  value = var.anthropic_key
}
