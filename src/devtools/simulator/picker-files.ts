import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { LocalCdn } from '../../media';
import { DevtoolError } from '../errors';
import type { ViewField } from './screen-view';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Local files for PhotoPicker/DocumentPicker inputs: each file is encrypted with Meta's algorithm
 * and served by a CDN stand-in on a loopback port, and the picker's value becomes the media
 * objects a phone would send (the service accepts loopback CDN URLs outside production only).
 * In a walk script: `"receipts": {"$files": ["receipt.jpg"]}`, paths relative to the script.
 */
export class PickerFiles {
  #cdn: LocalCdn | undefined;

  constructor(private readonly baseDir: string) {}

  /** The picker value for `value` (`{"$files": [...]}`); other values are returned unchanged. */
  async resolve(field: ViewField, value: unknown): Promise<unknown> {
    if (field.component !== 'PhotoPicker' && field.component !== 'DocumentPicker') return value;
    if (!isObject(value) || !('$files' in value)) return value;
    const files = value.$files;
    if (!Array.isArray(files) || !files.every((f) => typeof f === 'string')) {
      throw new DevtoolError(`input "${field.name}": $files must be an array of file paths`);
    }
    this.#cdn ??= await new LocalCdn().start();
    const cdn = this.#cdn;
    return files.map((file) => {
      const path = resolve(this.baseDir, file);
      let bytes: Buffer;
      try {
        bytes = readFileSync(path);
      } catch (err) {
        throw new DevtoolError(
          `input "${field.name}": cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
      return cdn.add(bytes, basename(path));
    });
  }

  async close(): Promise<void> {
    await this.#cdn?.stop();
    this.#cdn = undefined;
  }
}
