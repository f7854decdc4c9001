"""Validates a JUnit XML report against testdata/junit.xsd (the xmlschema package).

Usage: validate_junit.py REPORT.xml; prints "valid" or the first problem and exits 1."""
import os
import sys
import xmlschema

schema = xmlschema.XMLSchema(os.path.join(os.path.dirname(__file__), "junit.xsd"))
try:
    schema.validate(sys.argv[1])
except xmlschema.XMLSchemaException as e:
    print(e)
    sys.exit(1)
print("valid")
