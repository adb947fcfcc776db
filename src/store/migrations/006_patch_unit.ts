import type { Migration } from './index.ts';

// The responsible unit a patch belongs to — what town isolation turns on. Set at import from the
// delivered 行政区代码 (its first 9 digits are county + town), later from the analysis (largest share)
// or by the bureau's reassignment with a reason.
export const m006PatchUnit: Migration = {
  version: 6,
  name: 'patch responsible unit',
  sql: `
ALTER TABLE patches ADD COLUMN unit_code text CHECK (unit_code ~ '^[0-9]{9}$');
CREATE INDEX patches_unit ON patches (batch_id, unit_code);
UPDATE patches SET unit_code = substr(xzqdm, 1, 9) WHERE xzqdm ~ '^[0-9]{9}([0-9]{3})?$';
`,
};
