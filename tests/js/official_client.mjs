// The official InfluxDB JavaScript client (@influxdata/influxdb-client and -apis) against one server.
//
// Run by tests/test_official_js_client.py with INFLUX_HOST (the server's URL), INFLUX_TOKEN and
// INFLUX_ORG in the environment. Each step calls the client's public API the way a Node host app
// would and records what came back; the whole record is printed as one JSON document on stdout,
// and the Python test asserts the values. A step that throws is recorded as its error (name,
// HTTP status, InfluxDB code and message), so a failure names the step instead of ending the run.
// Buckets the script makes are named influx-connector-e2e-<random> and deleted at the end.
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'

// The packages come from the front end's lockfile (npm ci --prefix frontend).
const require = createRequire(new URL('../../frontend/package.json', import.meta.url))
const {
  InfluxDB, Point, HttpError, flux, fluxDateTime, fluxDuration, fluxExpression, fluxString, fluxFloat, stringToLines, linesToTables,
} = require('@influxdata/influxdb-client')
const { BucketsAPI, DeleteAPI, HealthAPI, OrgsAPI, PingAPI, QueryAPI, ReadyAPI } = require('@influxdata/influxdb-client-apis')

const url = process.env.INFLUX_HOST
const token = process.env.INFLUX_TOKEN
const org = process.env.INFLUX_ORG
if (!url || !token || !org) {
  console.error('INFLUX_HOST, INFLUX_TOKEN and INFLUX_ORG must name the server')
  process.exit(2)
}

const PREFIX = 'influx-connector-e2e-'
const T0 = Date.UTC(2023, 0, 1) // 2023-01-01T00:00:00Z
const RANGE = 'range(start: 2023-01-01T00:00:00Z, stop: 2024-01-01T00:00:00Z)'
const influxDB = new InfluxDB({ url, token })
const queryApi = influxDB.getQueryApi(org)
const bucketsApi = new BucketsAPI(influxDB)
const made = []
const out = {}

function describe(error) {
  if (error instanceof HttpError) {
    return { error: 'HttpError', status: error.statusCode, code: error.code ?? error.json?.code ?? null, message: error.json?.message ?? error.body }
  }
  return { error: error?.name ?? 'Error', message: String(error?.message ?? error) }
}

async function step(name, fn) {
  try {
    out[name] = await fn()
  } catch (error) {
    out[name] = describe(error)
  }
}

async function newBucket(orgID, extra = {}) {
  const bucket = await bucketsApi.postBuckets({ body: { orgID, name: PREFIX + randomBytes(6).toString('hex'), ...extra } })
  made.push(bucket.id)
  return bucket
}

// Rows as the client decodes them: values typed by the #datatype annotation.
async function rows(query, api = queryApi) {
  return api.collectRows(query)
}

function pick(row, ...keys) {
  return Object.fromEntries(keys.map((k) => [k, row[k]]))
}

async function main() {
  await step('ping', async () => ({ ping: (await new PingAPI(influxDB).getPing()) ?? null }))
  await step('health', async () => pick(await new HealthAPI(influxDB).getHealth(), 'name', 'status', 'version'))
  await step('ready', async () => pick(await new ReadyAPI(influxDB).getReady(), 'status'))

  const orgs = await new OrgsAPI(influxDB).getOrgs({ org })
  const orgID = orgs.orgs[0].id
  out.orgs = orgs.orgs.map((o) => ({ name: o.name, idLength: o.id.length }))

  // --- buckets: create, read, list, update, delete ---
  await step('buckets', async () => {
    const bucket = await newBucket(orgID, { description: 'first', retentionRules: [{ type: 'expire', everySeconds: 3600 }] })
    const read = await bucketsApi.getBucketsID({ bucketID: bucket.id })
    const listed = await bucketsApi.getBuckets({ org, name: bucket.name })
    const patched = await bucketsApi.patchBucketsID({
      bucketID: bucket.id, body: { description: 'second', retentionRules: [{ type: 'expire', everySeconds: 7200 }] },
    })
    await bucketsApi.deleteBucketsID({ bucketID: bucket.id })
    let afterDelete = null
    try {
      await bucketsApi.getBucketsID({ bucketID: bucket.id })
    } catch (error) {
      afterDelete = describe(error)
    }
    return {
      created: { description: bucket.description, every: bucket.retentionRules.map((r) => r.everySeconds), orgMatches: bucket.orgID === orgID },
      read: { sameName: read.name === bucket.name },
      listed: listed.buckets.map((b) => b.id === bucket.id),
      patched: { description: patched.description, every: patched.retentionRules.map((r) => r.everySeconds) },
      afterDelete,
    }
  })

  // --- writes: points and line protocol, batched and gzip'd above the threshold ---
  const bucket = (await newBucket(orgID)).name
  await step('write', async () => {
    const failed = []
    const writeApi = influxDB.getWriteApi(org, bucket, 's', {
      batchSize: 300, flushInterval: 0, maxRetries: 0, gzipThreshold: 1000,
      writeFailed: (error, lines) => { failed.push([describe(error), lines.length]) },
    })
    writeApi.writePoints([
      new Point('env').tag('room', 'hall').floatField('temp', 21.5).intField('count', 3).booleanField('ok', true)
        .stringField('note', 'say "hi"').uintField('u', 7).timestamp(new Date(T0)),
      new Point('env').tag('room', 'attic').floatField('temp', -1.25).intField('count', -4).booleanField('ok', false)
        .stringField('note', 'a,b=c d').uintField('u', 0).timestamp(new Date(T0 + 1000)),
    ])
    const lines = []
    for (let i = 0; i < 1000; i++) lines.push(`cpu,host=h${i % 4} v=${i}i ${T0 / 1000 + i}`)
    writeApi.writeRecords(lines)
    await writeApi.close()
    return { failed }
  })

  await step('rows', async () => {
    const got = await rows(flux`from(bucket: ${bucket}) |> ${fluxExpression(RANGE)} |> filter(fn: (r) => r._measurement == "env")`)
    return got.map((r) => ({ ...pick(r, 'room', '_field', '_value', '_time', 'result', 'table'), type: typeof r._value }))
  })

  await step('counts', async () => {
    const got = await rows(`from(bucket: "${bucket}") |> ${RANGE} |> filter(fn: (r) => r._measurement == "cpu") |> count()`)
    return Object.fromEntries(got.map((r) => [r.host, r._value]))
  })

  await step('aggregates', async () => {
    const base = `from(bucket: "${bucket}") |> ${RANGE} |> filter(fn: (r) => r._measurement == "cpu" and r.host == "h1")`
    const [mean] = await rows(base + ' |> mean()')
    const [max] = await rows(base + ' |> max()')
    const windows = await rows(
      `from(bucket: "${bucket}") |> range(start: 2023-01-01T00:00:00Z, stop: 2023-01-01T00:02:00Z)` +
      ' |> filter(fn: (r) => r.host == "h1") |> aggregateWindow(every: 1m, fn: sum)')
    return { mean: mean._value, max: max._value, windows: windows.map((r) => [r._time, r._value]) }
  })

  // The other ways the client hands out an answer: an async iterator, an observer, lines, raw CSV.
  await step('readers', async () => {
    const query = `from(bucket: "${bucket}") |> ${RANGE} |> filter(fn: (r) => r.room == "attic" and r._field == "temp")`
    const iterated = []
    for await (const { values, tableMeta } of queryApi.iterateRows(query)) iterated.push(tableMeta.toObject(values)._value)
    const observed = await new Promise((resolve, reject) => {
      const seen = []
      queryApi.queryRows(query, {
        next: (values, tableMeta) => seen.push(tableMeta.get(values, '_time')),
        error: reject,
        complete: () => resolve(seen),
      })
    })
    const lines = await queryApi.collectLines(query)
    const raw = await queryApi.queryRaw(query)
    return { iterated, observed, lines, raw }
  })

  // Parameters: the flux`` template escapes values into the query text; QueryAPI.postQuery sends
  // them as the request's extern file, as the API allows; `now` is set through the query options.
  await step('template', async () => {
    const got = await rows(flux`from(bucket: ${bucket}) |> range(start: ${fluxDateTime('2023-01-01T00:00:00Z')}, stop: ${fluxDuration('1y')})
      |> filter(fn: (r) => r._field == "temp") |> filter(fn: (r) => r.room == ${fluxString('attic')} and r._value < ${fluxFloat(0)})`)
    return got.map((r) => r._value)
  })

  await step('extern', async () => {
    const option = (name, init) => ({ type: 'OptionStatement', assignment: { type: 'VariableAssignment', id: { type: 'Identifier', name }, init } })
    const csv = await new QueryAPI(influxDB).postQuery({
      org,
      body: {
        query: 'from(bucket: bucket) |> range(start: start, stop: stop) |> filter(fn: (r) => r._measurement == "cpu")' +
          ' |> filter(fn: (r) => r.host == hosts[1] and r._value >= floor) |> count()',
        type: 'flux',
        extern: {
          type: 'File',
          imports: [],
          body: [
            option('bucket', { type: 'StringLiteral', value: bucket }),
            option('start', { type: 'DateTimeLiteral', value: '2023-01-01T00:00:00Z' }),
            option('stop', { type: 'UnaryExpression', operator: '-', argument: { type: 'DurationLiteral', values: [{ magnitude: 1, unit: 'h' }] } }),
            option('hosts', { type: 'ArrayExpression', elements: [{ type: 'StringLiteral', value: 'h0' }, { type: 'StringLiteral', value: 'h2' }] }),
            { type: 'VariableAssignment', id: { type: 'Identifier', name: 'floor' }, init: { type: 'IntegerLiteral', value: '500' } },
          ],
        },
        dialect: { annotations: ['datatype', 'group', 'default'] },
      },
    })
    // Decoded with the client's own annotated-CSV reader.
    const decoded = []
    let failure = null
    stringToLines(csv, linesToTables({
      next: (values, tableMeta) => { decoded.push(tableMeta.toObject(values)) },
      error: (error) => { failure = error },
      complete() {},
    }))
    if (failure) throw failure
    return decoded.map((r) => pick(r, 'host', '_value', '_start', '_stop'))
  })

  await step('now', async () => {
    const fixed = queryApi.with({ now: () => '2023-01-01T00:00:12Z' })
    const got = await rows(`from(bucket: "${bucket}") |> range(start: -5s) |> filter(fn: (r) => r.host == "h0")`, fixed)
    return got.map((r) => [r._time, r._value])
  })

  await step('ast', async () => {
    const { ast } = await new QueryAPI(influxDB).postQueryAst({ body: { query: 'from(bucket: "b") |> range(start: -1h)' } })
    const analyzed = await new QueryAPI(influxDB).postQueryAnalyze({ body: { query: 'from(bucket: "b") |>' } })
    return { body: ast.files[0].body[0].expression.type, errors: analyzed.errors.length }
  })

  await step('delete', async () => {
    await new DeleteAPI(influxDB).postDelete({
      org, bucket, body: { start: '2023-01-01T00:00:00Z', stop: '2023-01-01T00:16:39Z', predicate: '_measurement="cpu" AND host="h0"' },
    })
    const got = await rows(`from(bucket: "${bucket}") |> ${RANGE} |> filter(fn: (r) => r._measurement == "cpu") |> count()`)
    return Object.fromEntries(got.map((r) => [r.host, r._value]))
  })

  // --- errors ---
  const missing = PREFIX + 'missing-' + randomBytes(4).toString('hex')
  out.missingBucket = missing
  await step('queryMissing', () => rows(`from(bucket: "${missing}") |> range(start: -1h)`))
  await step('writeMissing', async () => {
    const writeApi = influxDB.getWriteApi(org, missing, 'ns', { maxRetries: 0, writeFailed: () => {} })
    writeApi.writeRecord('m v=1')
    await writeApi.close()
    return 'written'
  })
  const wrong = new InfluxDB({ url, token: 'wrong-token-' + randomBytes(8).toString('hex') })
  await step('wrongTokenQuery', () => rows(`from(bucket: "${bucket}") |> range(start: -1h)`, wrong.getQueryApi(org)))
  await step('wrongTokenBuckets', () => new BucketsAPI(wrong).getBuckets({ org }))
  await step('wrongTokenPing', async () => ({ ping: (await new PingAPI(wrong).getPing()) ?? null }))
}

try {
  await main()
} catch (error) {
  out.fatal = describe(error)
} finally {
  for (const bucketID of made) {
    try {
      await bucketsApi.deleteBucketsID({ bucketID })
    } catch (error) {
      if (!(error instanceof HttpError && error.statusCode === 404)) out.cleanup = describe(error)
    }
  }
}
process.stdout.write(JSON.stringify(out) + '\n')
