import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { usageError } from '../../exit-codes.js';
import { spawnDaemon } from '../../process/daemon.js';
import { findOnPath } from '../../process/executables.js';
import { choosePort, isPortOpen } from '../../process/ports.js';
import { lastLines, runCommand } from '../../process/run-command.js';
import { runStep } from '../../progress.js';
import type { LocalComponent, MissingTool, StartContext } from './component.js';
import { waitUntilReady } from './readiness.js';
import type { ComponentRecord } from './state.js';

/** Apache Kafka release resolved from Maven; 3.9 is the last line that kafkajs 2.2 is known to work with. */
export const KAFKA_VERSION = '3.9.1';
const SCALA_VERSION = '2.13';
const SLF4J_BINDING = 'org.slf4j:slf4j-reload4j:1.7.36';
/** Maven 3.8's default version of the plugin, pinned so a new Maven resolves the same one. */
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:2.8:copy-dependencies';
const READY_TIMEOUT_MS = 90_000;
const FORMAT_TIMEOUT_MS = 60_000;
const MAVEN_TIMEOUT_MS = 600_000;
const JAVA_HINT = 'install the Debian package openjdk-17-jre-headless (apt-get install -y openjdk-17-jre-headless)';
const MAVEN_HINT = `install the Debian package maven (apt-get install -y maven), or set KAFKA_HOME to an Apache Kafka ${KAFKA_VERSION} install`;
const COMPLETE_MARKER = '.complete';

function findJava(env: NodeJS.ProcessEnv): string | undefined {
  if (env.JAVA_HOME && existsSync(join(env.JAVA_HOME, 'bin', 'java'))) return join(env.JAVA_HOME, 'bin', 'java');
  return findOnPath('java', env);
}

/** Folder with the broker's jars: `$KAFKA_HOME/libs`, or the Maven-resolved cache. */
function cachedLibsDir(cacheDir: string): string {
  return join(cacheDir, `kafka-${KAFKA_VERSION}`, 'libs');
}

function kafkaPom(): string {
  const [group, artifact, version] = SLF4J_BINDING.split(':');
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>soma.local</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_${SCALA_VERSION}</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>${group}</groupId><artifactId>${artifact}</artifactId><version>${version}</version></dependency>
  </dependencies>
</project>
`;
}

/** Resolves the broker jars with Maven into the cache, once; a half-finished download is never used. */
async function ensureKafkaJars(context: StartContext): Promise<string> {
  if (context.env.KAFKA_HOME) {
    const libs = join(context.env.KAFKA_HOME, 'libs');
    if (!existsSync(libs)) throw usageError(`kafka: KAFKA_HOME=${context.env.KAFKA_HOME} has no libs/ folder`, 'point KAFKA_HOME at an unpacked Apache Kafka release');
    return libs;
  }
  const libs = cachedLibsDir(context.cacheDir);
  if (existsSync(join(libs, COMPLETE_MARKER))) return libs;

  const mvn = findOnPath('mvn', context.env);
  if (!mvn) throw usageError(`kafka: mvn not found on PATH (needed once to fetch the Apache Kafka ${KAFKA_VERSION} jars)`, MAVEN_HINT);
  const workDir = join(context.cacheDir, `kafka-${KAFKA_VERSION}.partial-${process.pid}`);
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  writeFileSync(join(workDir, 'pom.xml'), kafkaPom());

  const result = await runStep(context.progress, `kafka: resolve Apache Kafka ${KAFKA_VERSION} jars with Maven (first run only)`, () =>
    runCommand({
      command: mvn,
      args: ['-q', '-B', DEPENDENCY_PLUGIN, '-DoutputDirectory=libs', '-DincludeScope=runtime'],
      cwd: workDir,
      env: context.env,
      timeoutMs: MAVEN_TIMEOUT_MS,
      signal: context.signal,
    }),
  );
  if (result.code !== 0 || !existsSync(join(workDir, 'libs'))) {
    writeFileSync(join(workDir, 'mvn.log'), result.output);
    throw usageError(
      `kafka: Maven could not resolve org.apache.kafka:kafka_${SCALA_VERSION}:${KAFKA_VERSION} (exit code ${result.code}):\n${lastLines(result.output).join('\n')}`,
      `check that Maven can reach its repository; full output in ${join(workDir, 'mvn.log')}`,
    );
  }
  writeFileSync(join(workDir, 'libs', COMPLETE_MARKER), `${new Date().toISOString()}\n`);
  rmSync(join(context.cacheDir, `kafka-${KAFKA_VERSION}`), { recursive: true, force: true });
  renameSync(workDir, join(context.cacheDir, `kafka-${KAFKA_VERSION}`));
  return libs;
}

/** Kafka cluster ids are 16 random bytes in URL-safe base64 without padding (22 characters). */
export function newClusterId(): string {
  // kafka-storage reads an id that starts with '-' as an option and fails, so
  // such ids are drawn again (Kafka's own Uuid.randomUuid does the same).
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export function serverProperties(options: { brokerPort: number; controllerPort: number; dataDir: string }): string {
  const { brokerPort, controllerPort, dataDir } = options;
  return [
    '# Written by soma-harness on every start; edits are overwritten.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    // One broker: every internal topic has one replica.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    // Fewer partitions of __consumer_offsets make the first group join faster (default 50).
    'offsets.topic.num.partitions=10',
    'transaction.state.log.num.partitions=5',
    // A consumer group starts at once instead of waiting 3 s for more members.
    'group.initial.rebalance.delay.ms=0',
    '',
  ].join('\n');
}

const LOG4J_PROPERTIES = [
  'log4j.rootLogger=INFO, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  '# The full configuration dump on start is long and rarely useful.',
  'log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN',
  'log4j.logger.kafka.server.KafkaConfig=WARN',
  '',
].join('\n');

/** Kafka 4 logs through log4j2 and ignores the log4j 1 file. */
const LOG4J2_PROPERTIES = [
  'rootLogger.level=INFO',
  'rootLogger.appenderRef.stdout.ref=STDOUT',
  'appender.stdout.type=Console',
  'appender.stdout.name=STDOUT',
  'appender.stdout.layout.type=PatternLayout',
  'appender.stdout.layout.pattern=[%d] %p %m (%c)%n',
  '',
].join('\n');

async function formatStorage(java: string, libs: string, propertiesPath: string, clusterId: string, context: StartContext): Promise<void> {
  const result = await runStep(context.progress, 'kafka: format KRaft storage', () =>
    runCommand({
      command: java,
      args: ['-cp', `${libs}/*`, '-Dlog4j.configuration=file:' + join(context.stateDir, 'kafka', 'log4j.properties'),
        'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propertiesPath],
      env: context.env,
      timeoutMs: FORMAT_TIMEOUT_MS,
      signal: context.signal,
    }),
  );
  if (result.code !== 0) {
    throw usageError(`kafka: formatting the storage failed (exit code ${result.code}):\n${lastLines(result.output).join('\n')}`,
      `delete ${join(context.stateDir, 'kafka', 'data')} and run up again`);
  }
}

function readinessClient(port: number): Kafka {
  return new Kafka({
    clientId: 'soma-harness-readiness',
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 0 },
  });
}

/** Checks that the broker responds to metadata requests and has elected its controller. */
async function brokerAnswers(port: number): Promise<boolean> {
  if (!(await isPortOpen(port))) return false;
  const admin = readinessClient(port).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.controller !== null && cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Checks that clients can work: the group coordinator (which creates
 * __consumer_offsets on first use) and the producer-id allocation behind
 * idempotent producers both respond. Right after a start they return
 * "coordinator is loading" for a second or two, which clients log as errors.
 */
async function brokerServesClients(port: number): Promise<boolean> {
  if (!(await brokerAnswers(port))) return false;
  const kafka = readinessClient(port);
  const admin = kafka.admin();
  // kafkajs rejects an idempotent producer without retries; one short retry keeps each probe fast.
  const producer = kafka.producer({ idempotent: true, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 } });
  try {
    await admin.connect();
    // Loads the cluster metadata, without which the admin client knows no broker to ask.
    await admin.describeCluster();
    await admin.describeGroups(['soma-harness-readiness']);
    await producer.connect();
    return true;
  } catch {
    return false;
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

export function createKafkaComponent(): LocalComponent {
  return {
    name: 'kafka',
    // SIGTERM starts the broker's controlled shutdown, which can take several seconds.
    stopSignal: 'SIGTERM',
    stopGraceMs: 30_000,

    async findMissingTools(context): Promise<MissingTool[]> {
      const missing: MissingTool[] = [];
      if (!findJava(context.env)) missing.push({ component: 'kafka', tool: 'java', fix: JAVA_HINT });
      const jarsReady = context.env.KAFKA_HOME || existsSync(join(cachedLibsDir(context.cacheDir), COMPLETE_MARKER));
      if (!jarsReady && !findOnPath('mvn', context.env)) missing.push({ component: 'kafka', tool: 'mvn', fix: MAVEN_HINT });
      return missing;
    },

    async start(context, previous): Promise<ComponentRecord> {
      const java = findJava(context.env);
      if (!java) throw usageError('kafka: java not found on PATH or in JAVA_HOME', JAVA_HINT);
      const libs = await ensureKafkaJars(context);
      const baseDir = join(context.stateDir, 'kafka');
      const dataDir = join(baseDir, 'data');
      const logPath = join(baseDir, 'kafka.log');
      const propertiesPath = join(baseDir, 'server.properties');
      mkdirSync(baseDir, { recursive: true });

      const brokerPort = await choosePort(previous?.port, context.takenPorts);
      context.takenPorts.add(brokerPort);
      const controllerPort = await choosePort(previous?.extraPorts?.controller, context.takenPorts);
      context.takenPorts.add(controllerPort);
      writeFileSync(propertiesPath, serverProperties({ brokerPort, controllerPort, dataDir }));
      writeFileSync(join(baseDir, 'log4j.properties'), LOG4J_PROPERTIES);
      writeFileSync(join(baseDir, 'log4j2.properties'), LOG4J2_PROPERTIES);

      const formatted = existsSync(join(dataDir, 'meta.properties'));
      if (!formatted) {
        rmSync(dataDir, { recursive: true, force: true });
        context.state.kafkaClusterId = newClusterId();
        context.saveState();
        await formatStorage(java, libs, propertiesPath, context.state.kafkaClusterId, context);
      }

      context.signal?.throwIfAborted();
      const daemon = spawnDaemon({
        command: java,
        args: [
          '-Xms256m', '-Xmx512m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
          `-Dlog4j.configuration=file:${join(baseDir, 'log4j.properties')}`,
          `-Dlog4j2.configurationFile=${join(baseDir, 'log4j2.properties')}`,
          `-Dkafka.logs.dir=${baseDir}`,
          '-cp', `${libs}/*`,
          'kafka.Kafka', propertiesPath,
        ],
        cwd: baseDir,
        env: context.env,
        logPath,
      });
      const record: ComponentRecord = {
        name: 'kafka',
        port: brokerPort,
        extraPorts: { controller: controllerPort },
        address: `127.0.0.1:${brokerPort}`,
        pid: daemon.pid,
        logPath,
        managed: true,
        flavour: context.env.KAFKA_HOME ? `kafka from KAFKA_HOME=${context.env.KAFKA_HOME}` : `kafka ${KAFKA_VERSION} (jars from Maven, ${readdirSync(libs).length} files)`,
        startedAt: new Date().toISOString(),
      };
      context.state.components.kafka = record;
      context.saveState();

      await waitUntilReady({
        component: 'kafka', port: brokerPort, logPath, daemon, timeoutMs: READY_TIMEOUT_MS,
        probe: () => brokerServesClients(brokerPort), progress: context.progress, signal: context.signal,
      });
      return record;
    },

    probe: (record) => brokerAnswers(record.port),
  };
}
