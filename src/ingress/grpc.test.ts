import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode } from '../core/errors.ts';
import { encodeGrpcMessage, grpcStatusIn, grpcStatusOf, isGrpc, trailersOnly } from './grpc.ts';

describe('isGrpc', () => {
  const cases: [string | undefined, boolean][] = [
    ['application/grpc', true],
    ['application/grpc+proto', true],
    ['application/grpc+json', true],
    ['application/grpc;charset=utf-8', true],
    ['Application/GRPC', true],
    ['application/grpc-web', false],
    ['application/grpc-web+proto', false],
    ['application/grpc-web-text', false],
    ['application/grpcx', false],
    ['application/json', false],
    [undefined, false],
  ];
  for (const [ct, want] of cases) {
    test(`${ct ?? '(none)'} is ${want ? '' : 'not '}gRPC over HTTP/2`, () => {
      assert.equal(isGrpc(ct === undefined ? {} : { 'content-type': ct }), want);
    });
  }
});

describe('grpc-message', () => {
  test('is percent-encoded outside printable ASCII, and % itself', () => {
    assert.equal(encodeGrpcMessage('plain text: ok'), 'plain text: ok');
    assert.equal(encodeGrpcMessage('100% ü\n'), '100%25 %C3%BC%0A');
  });

  test('Trailers-Only carries status 200, the gRPC status and the encoded reason', () => {
    assert.deepEqual(trailersOnly(14, 'Service Unavailable: the app is not ready'), {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': '14',
      'grpc-message': 'Service Unavailable: the app is not ready',
    });
  });
});

describe('gRPC status of a failure of Pillion', () => {
  test('the app gone, not ready, slow or shutting down is UNAVAILABLE; a bad response INTERNAL', () => {
    for (const code of [
      ErrorCode.APP_NOT_READY,
      ErrorCode.APP_UNREACHABLE,
      ErrorCode.APP_RESET,
      ErrorCode.APP_TIMEOUT,
      ErrorCode.DRAINING,
      ErrorCode.FD_EXHAUSTED,
    ])
      assert.equal(grpcStatusOf(code), 14, code);
    assert.equal(grpcStatusOf(ErrorCode.APP_BAD_RESPONSE), 13);
  });

  test('a grpc-status field is read as a number, or not at all', () => {
    assert.equal(grpcStatusIn({ 'grpc-status': '5' }), 5);
    assert.equal(grpcStatusIn({ 'grpc-status': 'x' }), undefined);
    assert.equal(grpcStatusIn({}), undefined);
  });
});
