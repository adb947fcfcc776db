import type { Migration } from './index.ts';

// The reference features' box index becomes SP-GiST (a quadtree over the boxes) instead of GiST:
// it answers the same && searches (approval cover near a patch, results a new layer makes stale),
// but costs an import about half as much to keep up row by row — GiST's penalty and split
// computations were ~0.9 s of PGlite's main thread per 100,000 parcels (bench/import.ts).
export const m011FeatureBboxSpgist: Migration = {
  version: 11,
  name: 'reference feature boxes indexed by SP-GiST',
  sql: `
DROP INDEX reference_features_bbox;
CREATE INDEX reference_features_bbox ON reference_features
  USING spgist (box(point(minx, miny), point(maxx, maxy)));
`,
};
