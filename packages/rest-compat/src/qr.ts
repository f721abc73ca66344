// The device-link QR code: a PNG like upstream's go-qrcode output (forced version, highest error correction,
// 256 px, quiet zone).
import QRCode from 'qrcode';

import { badRequest } from './errors.ts';

export const QR_SIZE_PX = 256;

const render = (text: string, version: number | undefined): Promise<Buffer> =>
  QRCode.toBuffer(text, { type: 'png', version, errorCorrectionLevel: 'H', width: QR_SIZE_PX, margin: 4 });

/**
 * PNG of `text` in a version-`version` QR code. If the text does not fit: with `exact`, a 400 naming
 * `qrcode_version` (the client asked for that version); without, the smallest version that fits is used.
 */
export async function qrPng(text: string, version: number, exact = true): Promise<Buffer> {
  try {
    return await render(text, version);
  } catch (err) {
    if (!exact) {
      try {
        return await render(text, undefined);
      } catch {
        // fall through to the error for the requested version
      }
    }
    const reason = err instanceof Error ? err.message : String(err);
    throw badRequest('qrcode_version', `couldn't create QR code: ${reason}`);
  }
}
