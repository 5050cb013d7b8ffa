import { useState, type ReactElement } from 'react';

import type { ProfileStatus } from '../shared/connection-profile.js';
import type { InspectorClient } from './inspector-client.js';

/** Publishes a test event through an open profile: type, source, subject, data JSON, extensions. */
export function PublishForm({ client, profiles }: { client: InspectorClient; profiles: readonly ProfileStatus[] }): ReactElement {
  const open = profiles.filter((p) => p.state === 'open');
  const [profileId, setProfileId] = useState('');
  const [type, setType] = useState('com.example.test');
  const [source, setSource] = useState('/cloudbus-inspector');
  const [subject, setSubject] = useState('');
  const [data, setData] = useState('{\n  "hello": "world"\n}');
  const [extensions, setExtensions] = useState<{ name: string; value: string }[]>([{ name: 'correlationid', value: '' }]);
  const [outcome, setOutcome] = useState<string>('');
  const chosen = profileId === '' ? (open[0]?.profile.id ?? '') : profileId;
  const submit = async (): Promise<void> => {
    const record: Record<string, string> = {};
    for (const { name, value } of extensions) if (name !== '' && value !== '') record[name] = value;
    try {
      const { id } = await client.request('event.publish', { profileId: chosen, type, source, subject, data, extensions: record });
      setOutcome(`Published ${id}`);
    } catch (error) {
      setOutcome(`Failed: ${(error as Error).message}`);
    }
  };
  return (
    <form
      className="publish"
      data-testid="publish-form"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <label>
        profile
        <select value={chosen} onChange={(event) => setProfileId(event.target.value)} data-testid="publish-profile">
          {open.map((p) => (
            <option key={p.profile.id} value={p.profile.id}>
              {p.profile.name} ({p.profile.broker})
            </option>
          ))}
        </select>
      </label>
      <label>
        type <input data-testid="publish-type" value={type} onChange={(event) => setType(event.target.value)} />
      </label>
      <label>
        source <input data-testid="publish-source" value={source} onChange={(event) => setSource(event.target.value)} />
      </label>
      <label>
        subject <input data-testid="publish-subject" value={subject} onChange={(event) => setSubject(event.target.value)} />
      </label>
      <label>
        data (JSON) <textarea data-testid="publish-data" rows={8} value={data} onChange={(event) => setData(event.target.value)} />
      </label>
      <fieldset>
        <legend>extensions</legend>
        {extensions.map((extension, index) => (
          <div key={index} className="ext-row">
            <input
              placeholder="name"
              data-testid="publish-ext-name"
              value={extension.name}
              onChange={(event) => setExtensions(extensions.map((e, i) => (i === index ? { ...e, name: event.target.value } : e)))}
            />
            <input
              placeholder="value"
              data-testid="publish-ext-value"
              value={extension.value}
              onChange={(event) => setExtensions(extensions.map((e, i) => (i === index ? { ...e, value: event.target.value } : e)))}
            />
          </div>
        ))}
        <button type="button" onClick={() => setExtensions([...extensions, { name: '', value: '' }])}>
          + extension
        </button>
      </fieldset>
      <button type="submit" data-testid="publish-submit" disabled={chosen === ''}>
        Publish
      </button>
      <p data-testid="publish-outcome">{outcome}</p>
    </form>
  );
}
