// The dashboard's HTML shell and icon. The page holds no data and no secret: everything it
// shows comes from the admin API, read with the token the person gives it.

/** The page, pointing at the bundle by its content hash so a new Pillion is never served an old bundle. */
export function pageHtml(jsHash: string, cssHash: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="dark">
<title>Pillion</title>
<link rel="icon" type="image/svg+xml" href="/ui/favicon.svg">
<link rel="stylesheet" href="/ui/app.css?v=${cssHash}">
<script type="module" src="/ui/app.js?v=${jsHash}"></script>
</head>
<body>
<div id="root"></div>
<noscript>The Pillion dashboard needs JavaScript. The same figures are at /api/v1/status and /api/v1/stats.</noscript>
</body>
</html>
`;
}

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
<stop offset="0" stop-color="#2dd4bf"/><stop offset="1" stop-color="#6366f1"/></linearGradient></defs>
<rect width="32" height="32" rx="8" fill="url(#g)"/>
<path d="M11 24V8h6.5a5 5 0 0 1 0 10H11" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/>
</svg>
`;
