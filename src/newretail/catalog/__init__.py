"""Products, barcodes, prices per store and the store layout (aisle, bay, shelf)."""
