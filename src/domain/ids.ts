/**
 * Ids this service makes with `randomUUID()` (thread ids, upload ids) are version-4 UUIDs. Anything else
 * from a request or a file name is not one of ours; checked before it names a key or a path.
 */
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export const isUuidV4 = (value: string) => UUID_V4.test(value);

/** A workflow's id (SPEC: a UUID v4). */
export const isThreadId = isUuidV4;
