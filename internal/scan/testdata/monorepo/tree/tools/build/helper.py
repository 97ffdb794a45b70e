# our build helper, a Python package named build
import anthropic
