from fastapi import FastAPI
from anthropic import Anthropic

app = FastAPI()
client = Anthropic()
