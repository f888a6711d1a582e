"""The static site and printable leaflets built from the same cards as the bot."""
