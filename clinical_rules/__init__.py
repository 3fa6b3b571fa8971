"""The relapse algorithm and order checks: facts in, decisions out. Pure; the knowledge base is data."""
