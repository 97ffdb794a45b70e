# anthropic_fan is our package; it has nothing to do with the vendor.
import anthropic_fan
from anthropicfan import helpers  # anthropic in a comment

ANTHROPIC = "principle"
claude = "a person's name"
