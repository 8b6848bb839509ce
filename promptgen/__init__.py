"""PromptGen: build optimized prompts from blueprints and visual signatures."""
