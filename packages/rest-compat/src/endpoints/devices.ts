// Registration, verification, unregistering, linking (QR code) and linked devices.
import { z } from 'zod';

import { call, local, readBody, readPath, readQuery, required, rpc, rpcNoBody, status } from '../endpoint-kit.ts';
import { badRequest } from '../errors.ts';
import { accountOrThrow } from '../identifiers.ts';
import { deviceEntry, devicesSchema, parseResult, startLinkResultSchema, toDeviceEntry } from '../mappers.ts';
import { qrPng } from '../qr.ts';
import { LIMITS, numberPath, phoneNumber, shortText } from '../schemas.ts';
import type { Endpoint } from '../types.ts';

export const registerBody = z.object({
  use_voice: z.boolean().optional(),
  captcha: z.string().max(LIMITS.captcha).optional().meta({ description: 'signalcaptcha://… token' }),
});

export const register: Endpoint = {
  id: 'registerNumber',
  method: 'POST',
  path: '/v1/register/{number}',
  summary: 'Register a phone number',
  tags: ['Devices'],
  schemas: { path: numberPath, body: registerBody },
  successStatus: 201,
  bodyOptional: true,
  plan(req) {
    const number = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(registerBody, req, true);
    // register is a process-level call: the account goes in its (typed) params.
    return rpcNoBody(
      undefined,
      [
        call('register', {
          account: number,
          voice: body.use_voice === true ? true : undefined,
          captcha: body.captcha === '' ? undefined : body.captcha,
        }),
      ],
      201,
    );
  },
};

export const verifyPath = z.object({ number: phoneNumber, token: z.string().max(64) });
export const verifyBody = z.object({ pin: shortText.optional() });

export const verify: Endpoint = {
  id: 'verifyNumber',
  method: 'POST',
  path: '/v1/register/{number}/verify/{token}',
  summary: 'Verify a registration with the SMS or voice code',
  tags: ['Devices'],
  schemas: { path: verifyPath, body: verifyBody },
  successStatus: 201,
  bodyOptional: true,
  plan(req) {
    const path = readPath(verifyPath, req);
    const number = accountOrThrow(path.number);
    if (!/^[0-9A-Za-z-]{1,64}$/.test(path.token)) throw badRequest('token', 'not a verification code');
    const body = readBody(verifyBody, req, true);
    return rpcNoBody(
      undefined,
      [call('verify', { account: number, verificationCode: path.token, pin: body.pin === '' ? undefined : body.pin })],
      201,
    );
  },
};

export const unregisterBody = z.object({
  delete_account: z.boolean().optional().meta({ description: 'Also delete the account on the Signal server (irreversible).' }),
  delete_local_data: z.boolean().optional(),
});

export const unregister: Endpoint = {
  id: 'unregisterNumber',
  method: 'POST',
  path: '/v1/unregister/{number}',
  summary: 'Unregister a phone number',
  tags: ['Devices'],
  schemas: { path: numberPath, body: unregisterBody },
  successStatus: 204,
  bodyOptional: true,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(unregisterBody, req, true);
    const calls = [call('unregister', { deleteAccount: body.delete_account === true ? true : undefined })];
    if (body.delete_local_data === true) calls.push(call('deleteLocalAccountData', { account }));
    return rpcNoBody(account, calls, 204);
  },
};

export const qrQuery = z.object({
  device_name: z.string().max(LIMITS.identifier),
  qrcode_version: z
    .string()
    .optional()
    .meta({ description: 'QR code version 1–40 (default 10).' }),
});
export const rawQrQuery = z.object({ device_name: z.string().max(LIMITS.identifier) });

function deviceNameOrThrow(name: string): string {
  if (name.trim() === '') throw badRequest('device_name', 'required');
  return name;
}

export const qrCodeLink: Endpoint = {
  id: 'getQrCodeLink',
  method: 'GET',
  path: '/v1/qrcodelink',
  summary: 'Link as a secondary device: QR code PNG (finishLink runs in the background)',
  tags: ['Devices'],
  schemas: { query: qrQuery },
  successStatus: 200,
  rawContentType: 'image/png',
  plan(req) {
    const query = readQuery(qrQuery, req);
    const deviceName = deviceNameOrThrow(query.device_name);
    let qrVersion = 10;
    if (query.qrcode_version !== undefined) {
      if (!/^\d{1,2}$/.test(query.qrcode_version)) throw badRequest('qrcode_version', 'must be an integer from 1 to 40');
      qrVersion = Number(query.qrcode_version);
      if (qrVersion < 1 || qrVersion > 40) throw badRequest('qrcode_version', 'must be an integer from 1 to 40');
    }
    return local({ type: 'startLinkQr', deviceName, qrVersion, raw: false }, async (result) => {
      const { deviceLinkUri } = parseResult(startLinkResultSchema, result, 'startLink');
      // Without qrcode_version, a link too long for version 10 gets the smallest version that fits.
      const png = await qrPng(deviceLinkUri, qrVersion, query.qrcode_version !== undefined);
      return { status: 200, raw: { contentType: 'image/png', data: png } };
    });
  },
};

export const qrCodeLinkRawResponse = z.object({ device_link_uri: z.string() });

export const qrCodeLinkRaw: Endpoint = {
  id: 'getQrCodeLinkRaw',
  method: 'GET',
  path: '/v1/qrcodelink/raw',
  summary: 'Link as a secondary device: the device link URI (finishLink runs in the background)',
  tags: ['Devices'],
  schemas: { query: rawQrQuery, response: qrCodeLinkRawResponse },
  successStatus: 200,
  plan(req) {
    const deviceName = deviceNameOrThrow(readQuery(rawQrQuery, req).device_name);
    return local({ type: 'startLinkQr', deviceName, qrVersion: 10, raw: true }, (result) => {
      const { deviceLinkUri } = parseResult(startLinkResultSchema, result, 'startLink');
      return status(200, { device_link_uri: deviceLinkUri });
    });
  },
};

export const addDeviceBody = z.object({
  uri: required(LIMITS.text).meta({ description: 'sgnl://linkdevice?uuid=…&pub_key=… from the new device.' }),
});

export const addDevice: Endpoint = {
  id: 'addDevice',
  method: 'POST',
  path: '/v1/devices/{number}',
  summary: 'Link another device to this (primary) account',
  tags: ['Devices'],
  schemas: { path: numberPath, body: addDeviceBody },
  successStatus: 204,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(addDeviceBody, req);
    return rpcNoBody(account, [call('addDevice', { uri: body.uri })], 204);
  },
};

export const listDevices: Endpoint = {
  id: 'listDevices',
  method: 'GET',
  path: '/v1/devices/{number}',
  summary: 'List linked devices',
  tags: ['Devices'],
  schemas: { path: numberPath, response: z.array(deviceEntry) },
  successStatus: 200,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    return rpc(account, [call('listDevices')], ([result]) =>
      status(200, parseResult(devicesSchema, result, 'listDevices').map(toDeviceEntry)),
    );
  },
};

export const localDataBody = z.object({ ignore_registered: z.boolean().optional() });

export const deleteLocalAccountData: Endpoint = {
  id: 'deleteLocalAccountData',
  method: 'DELETE',
  path: '/v1/devices/{number}/local-data',
  summary: "Delete the account's local data (after unregistering)",
  tags: ['Devices'],
  schemas: { path: numberPath, body: localDataBody },
  successStatus: 204,
  bodyOptional: true,
  plan(req) {
    const account = accountOrThrow(readPath(numberPath, req).number);
    const body = readBody(localDataBody, req, true);
    // A registration-manager call: signal-cli takes the account from the params.
    return rpcNoBody(
      undefined,
      [call('deleteLocalAccountData', { account, ignoreRegistered: body.ignore_registered === true ? true : undefined })],
      204,
    );
  },
};

export const removeDevicePath = z.object({ number: phoneNumber, deviceId: z.string().max(10) });

export const removeDevice: Endpoint = {
  id: 'removeDevice',
  method: 'DELETE',
  path: '/v1/devices/{number}/{deviceId}',
  summary: 'Remove a linked device',
  tags: ['Devices'],
  schemas: { path: removeDevicePath },
  successStatus: 204,
  plan(req) {
    const path = readPath(removeDevicePath, req);
    const account = accountOrThrow(path.number);
    if (!/^\d{1,9}$/.test(path.deviceId) || Number(path.deviceId) < 1) {
      throw badRequest('deviceId', 'must be a positive integer');
    }
    return rpcNoBody(account, [call('removeDevice', { deviceId: Number(path.deviceId) })], 204);
  },
};
