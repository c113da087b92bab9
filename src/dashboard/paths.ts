// Which admin paths are the dashboard's, known without loading it: its bundle (about 0.45 MiB
// of heap, source and assets) is loaded at the first request for one of them.

/** True for the paths the dashboard answers (`/` and everything under `/ui/`); no query. */
export function isDashboardPath(path: string): boolean {
  return path === '/' || path.startsWith('/ui/');
}
