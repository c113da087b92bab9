// The cases `npm run bench` measures (issue 12's set). gRPC unary (Pillion h2c vs nginx
// grpc_pass) is measured by its own script, bench/grpc.ts, which a whole run (no --cases)
// starts after these; its records go into the same raw file and report.
import type { Contender } from './contenders.ts';
import type { CertKind } from './setup.ts';

export interface BenchCase {
  name: string;
  title: string;
  tool: 'wrk' | 'h2load';
  path: string;
  connections: number;
  /** h2load: concurrent streams per connection. */
  streams?: number;
  close: boolean;
  fullHandshake: boolean;
  cert: CertKind;
  postBytes?: number;
  /** Expected response body size, checked before the case is measured. */
  bodyBytes: number;
}

export const CASES: BenchCase[] = [
  {
    name: 'h1-small',
    title: 'HTTP/1.1 keep-alive, 12-byte body (`GET /small`), 50 connections',
    tool: 'wrk',
    path: '/small',
    connections: 50,
    close: false,
    fullHandshake: false,
    cert: 'ecdsa',
    bodyBytes: 12,
  },
  {
    name: 'h1-16k',
    title: 'HTTP/1.1 keep-alive, 16 KiB body (`GET /16k`), 50 connections',
    tool: 'wrk',
    path: '/16k',
    connections: 50,
    close: false,
    fullHandshake: false,
    cert: 'ecdsa',
    bodyBytes: 16 * 1024,
  },
  {
    name: 'h1-1m',
    title: 'HTTP/1.1 keep-alive, 1 MiB body (`GET /1m`), 10 connections',
    tool: 'wrk',
    path: '/1m',
    connections: 10,
    close: false,
    fullHandshake: false,
    cert: 'ecdsa',
    bodyBytes: 1024 * 1024,
  },
  {
    name: 'churn-ecdsa',
    title:
      'a new connection per request (`Connection: close`), full TLS 1.3 handshake (no resumption), ECDSA P-256, 12-byte body, 50 connections',
    tool: 'wrk',
    path: '/small',
    connections: 50,
    close: true,
    fullHandshake: true,
    cert: 'ecdsa',
    bodyBytes: 12,
  },
  {
    name: 'churn-rsa',
    title:
      'a new connection per request (`Connection: close`), full TLS 1.3 handshake (no resumption), RSA 2048, 12-byte body, 50 connections',
    tool: 'wrk',
    path: '/small',
    connections: 50,
    close: true,
    fullHandshake: true,
    cert: 'rsa',
    bodyBytes: 12,
  },
  {
    name: 'h2-small',
    title: 'HTTP/2, 50 connections × 10 concurrent streams, 12-byte body (h2load)',
    tool: 'h2load',
    path: '/small',
    connections: 50,
    streams: 10,
    close: false,
    fullHandshake: false,
    cert: 'ecdsa',
    bodyBytes: 12,
  },
  {
    name: 'post-1m',
    title: 'HTTP/1.1 keep-alive, 1 MiB request body (`POST /post`, 12 bytes back), 10 connections',
    tool: 'wrk',
    path: '/post',
    connections: 10,
    close: false,
    fullHandshake: false,
    cert: 'ecdsa',
    postBytes: 1024 * 1024,
    bodyBytes: 12,
  },
];

export function applies(c: BenchCase, who: Contender): boolean {
  return c.tool !== 'h2load' || who.h2;
}
