"""Configuration that the Snakefile itself reads: validation of the config, run resolution, the
selection-grid presets, the stage code hash, the schema-generated guide, and the typed-settings parser every
stage uses at its boundary. Standard library only (plus PyYAML for the guide), so a dry run stays cheap."""
