import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, SETTING_GROUPS } from './config.js';
import { renderConfigurationPage, settingDocs } from './config-docs.js';
import { fromRoot } from './paths.js';

describe('the configuration page', () => {
  it('is what `npm run docs:config` writes from the schema (run it after changing a setting)', () => {
    expect(readFileSync(fromRoot('docs/configuration.md'), 'utf8')).toBe(renderConfigurationPage());
  });

  it('lists every setting once, in a group, with a description', () => {
    const names = Object.keys(ConfigSchema.innerType().shape);
    const docs = settingDocs();
    expect(docs.map((d) => d.name).sort()).toEqual([...names].sort());
    for (const d of docs) {
      expect(d.group, `${d.name} is in no group of src/config.ts`).not.toBe('other');
      expect(d.description.length, `${d.name} has no description`).toBeGreaterThan(10);
    }
    const grouped = SETTING_GROUPS.flatMap((g) => Object.keys(g.settings));
    expect(new Set(grouped).size).toBe(grouped.length);
    expect(SETTING_GROUPS.map((g) => g.id)).toEqual(['server', 'recognition', 'speakers', 'speech-front', 'limits', 'storage', 'workers', 'integrations']);
  });

  it('derives default, range and unit from the schema itself', () => {
    const byName = new Map(settingDocs().map((d) => [d.name, d]));
    expect(byName.get('SILENCE_MS')).toMatchObject({ default: '500 ms', accepts: '32 … 10,000 ms, whole', advanced: false });
    expect(byName.get('VAD_THRESHOLD')).toMatchObject({ default: '0.5', accepts: '0.01 … 1', advanced: true });
    expect(byName.get('ASR_DEVICE')).toMatchObject({ default: '`auto`', accepts: '`auto`, `cuda`, `vulkan`, `cpu`' });
    expect(byName.get('KEEP_AUDIO')?.default).toBe('no');
    expect(byName.get('ACCESS_TOKEN')?.default).toBe('(empty)');
    expect(renderConfigurationPage()).toMatch(/\| `RELAY` \| \(empty\) \| user@host of the relay/);
    expect(renderConfigurationPage()).toMatch(/\| `WHISPER_CUDA` \| `auto` \|/);
  });
});
