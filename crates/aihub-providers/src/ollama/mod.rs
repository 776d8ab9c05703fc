//! Placeholder: filled in by the ollama adapter work.
