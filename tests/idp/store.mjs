// Storage adapter for oidc-provider: one in-memory map shared by every Provider instance in this
// process (the IdP rebuilds its Provider when keys change), optionally saved to a JSON file so
// sessions, grants and refresh tokens survive a stop/restart of the IdP.

import * as fs from 'node:fs';

// key `${model}:${id}` -> { payload, expiresAt (epoch ms) | undefined }
const entries = new Map();
let saveTo;
let onSave = () => ({});

/** Loads saved entries (if any) and saves every later change, together with `extra()`, to `file`. */
export function persistTo(file, savedEntries, extra) {
  saveTo = file;
  onSave = extra;
  for (const [key, value] of Object.entries(savedEntries ?? {})) entries.set(key, value);
}

/** Writes the state file now (atomically: temp file then rename). */
export function save() {
  if (!saveTo) return;
  const now = Date.now();
  const live = {};
  for (const [key, value] of entries) {
    if (value.expiresAt === undefined || value.expiresAt > now) live[key] = value;
  }
  const temp = `${saveTo}.tmp`;
  fs.writeFileSync(temp, JSON.stringify({ ...onSave(), store: live }));
  fs.renameSync(temp, saveTo);
}

function get(key) {
  const value = entries.get(key);
  if (!value) return undefined;
  if (value.expiresAt !== undefined && value.expiresAt <= Date.now()) {
    entries.delete(key);
    return undefined;
  }
  return value.payload;
}

function set(key, payload, expiresIn) {
  const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
  entries.set(key, { payload, expiresAt });
}

/** The adapter class oidc-provider instantiates once per model name. */
export class Adapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    set(this.key(id), payload, expiresIn);
    if (payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      const members = get(grantKey) ?? [];
      set(grantKey, [...new Set([...members, this.key(id)])], expiresIn);
    }
    if (payload.userCode) set(`userCode:${payload.userCode}`, id, expiresIn);
    if (payload.uid) set(`sessionUid:${payload.uid}`, id, expiresIn);
    save();
  }

  async find(id) {
    return get(this.key(id));
  }

  async findByUserCode(userCode) {
    const id = get(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUid(uid) {
    const id = get(`sessionUid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const value = entries.get(this.key(id));
    if (value) value.payload.consumed = Math.floor(Date.now() / 1000);
    save();
  }

  async destroy(id) {
    entries.delete(this.key(id));
    save();
  }

  async revokeByGrantId(grantId) {
    for (const key of get(`grant:${grantId}`) ?? []) entries.delete(key);
    entries.delete(`grant:${grantId}`);
    save();
  }
}
