import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromRoot } from '../paths.js';
import { loadTemplates, resolveTemplate } from './templates.js';

describe('note templates are files', () => {
  it('the shipped ones load: general, meeting, interview, clinical (SOAP)', async () => {
    const { templates, skipped } = await loadTemplates(fromRoot('templates/notes'));
    expect(skipped).toEqual([]);
    expect([...templates.keys()].sort()).toEqual(['clinical', 'general', 'interview', 'meeting']);
    expect(templates.get('clinical')!.sections).toEqual(['Subjective', 'Objective', 'Assessment', 'Plan']);
  });

  it('a new file is a new template; bad files are skipped with a reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duet-templates-'));
    writeFileSync(join(dir, 'handover.json'), JSON.stringify({ name: 'handover', label: 'Shift handover', instruction: 'Write a handover.', sections: ['Patients'] }));
    writeFileSync(join(dir, 'broken.json'), '{');
    writeFileSync(join(dir, 'custom.json'), JSON.stringify({ name: 'custom', label: 'x', instruction: 'y' }));
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ name: 'mismatch', label: 'x', instruction: 'y' }));
    writeFileSync(join(dir, 'extra.json'), JSON.stringify({ name: 'extra', label: 'x', instruction: 'y', shell: 'rm -rf /' }));
    const { templates, skipped } = await loadTemplates(dir);
    expect([...templates.keys()]).toEqual(['handover']);
    expect(skipped).toHaveLength(4);
    expect(resolveTemplate(templates, 'handover')?.label).toBe('Shift handover');
    expect(resolveTemplate(templates, 'nope')).toBeNull();
    expect(resolveTemplate(templates, 'custom')).toBeNull();
    expect(resolveTemplate(templates, 'custom', '  Only the decisions. ')?.instruction).toBe('Only the decisions.');
  });

  it('a missing folder gives no templates, not a crash', async () => {
    expect((await loadTemplates('/nonexistent/templates')).templates.size).toBe(0);
  });
});
