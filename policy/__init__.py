"""The policy catalogue as data, no code: ``catalogue.yaml`` and its schema (docs/operations.md, "The policy").
A package only so that the wheel ships both files next to the code that reads them (consent/catalogue.py)."""
