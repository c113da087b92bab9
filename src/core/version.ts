// Pillion's version, from package.json. A JSON import rather than a file read relative to the
// module: the npm package runs a bundle (scripts/build.ts) whose chunks sit elsewhere than the
// sources, and esbuild inlines an imported JSON file.
import pkg from '../../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
