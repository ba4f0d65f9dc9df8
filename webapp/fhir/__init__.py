"""A read-only FHIR R4 facade over patients, appointments and visits (docs/fhir.md)."""
