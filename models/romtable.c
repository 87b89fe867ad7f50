#include "models/romtable.h"
/* Placeholder until the ROM table file lands (issue 5); the folded path uses heap tables. */
void rom_table_read_row(const RomTable *t, int layer, int row, float *out) { (void)t; (void)layer; (void)row; (void)out; }
