"""Request bodies of the two imitated APIs, validated before anything is written."""
