"""One answer's life from placeholder to final edit: reading the stream, paging, paced writes."""
