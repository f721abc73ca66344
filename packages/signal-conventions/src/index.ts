export { isE164, maskNumbers, numberTag } from './phone-number.ts';
export { defaultSignalCliConfigDir } from './config-dir.ts';
