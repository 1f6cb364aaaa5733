#!/usr/bin/env python3
"""Weekly attended hours per facility and level of care, from the
de-identified analytics stream (iop.analytics.v1).

What an analyst needs: a Kafka client (confluent-kafka) and the descriptor set
`iop schema export` writes; message classes are made from it at run time, so
no .proto file or generated code is needed.

    cargo run -- schema export --out iop.binpb
    pip install confluent-kafka protobuf
    python3 examples/analytics/weekly_hours.py --bootstrap 127.0.0.1:9092 --descriptors iop.binpb

Weeks are the episode's weeks (week 1 = its first seven days): the stream has
no calendar dates (HIPAA Safe Harbor), only the year and days since the start.
Prints one line per (year, facility, level of care, episode week): the
clinical hours attended and how many patients attended.
"""

import argparse
import collections
import sys
import time

from confluent_kafka import Consumer, TopicPartition
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

TOPIC = "iop.analytics.v1"
ATTENDED = "iop.analytics.events.v1.SessionAttended"


def message_classes(path):
    """Every message type of the descriptor set, by full name."""
    files = descriptor_pb2.FileDescriptorSet()
    with open(path, "rb") as f:
        files.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    return lambda name: message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def read_all(bootstrap, idle_seconds):
    """Every record of the topic, from the beginning, until it is quiet."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "analytics-example-%d" % time.time_ns(),
        "enable.auto.commit": False,
    })
    metadata = consumer.list_topics(TOPIC, timeout=10)
    partitions = metadata.topics[TOPIC].partitions
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in partitions])
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < idle_seconds:
        record = consumer.poll(0.2)
        if record is None:
            continue
        if record.error():
            raise RuntimeError(record.error())
        quiet_since = time.monotonic()
        yield record
    consumer.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True, help="the broker, e.g. what `iop dev` prints as kafka:")
    parser.add_argument("--descriptors", required=True, help="the file `iop schema export` wrote")
    parser.add_argument("--idle", type=float, default=3.0, help="stop after this many quiet seconds")
    args = parser.parse_args()

    cls = message_classes(args.descriptors)
    SessionAttended = cls(ATTENDED)
    LevelOfCare = cls("iop.analytics.events.v1.EpisodeStarted").DESCRIPTOR.fields_by_name[
        "level_of_care"].enum_type

    minutes = collections.Counter()
    patients = collections.defaultdict(set)
    for record in read_all(args.bootstrap, args.idle):
        headers = dict(record.headers() or [])
        if headers.get("ce_type", b"").decode() != ATTENDED:
            continue
        event = SessionAttended.FromString(record.value())
        if not event.clinical:
            continue
        level = LevelOfCare.values_by_number[event.level_of_care].name
        key = (event.year, event.facility_id, level, event.episode_week)
        minutes[key] += event.minutes
        patients[key].add(event.subject)

    writer = sys.stdout
    writer.write("year\tfacility\tlevel_of_care\tepisode_week\thours\tpatients\n")
    for key in sorted(minutes):
        year, facility, level, week = key
        writer.write("%d\t%s\t%s\t%d\t%.2f\t%d\n" % (
            year, facility, level, week, minutes[key] / 60, len(patients[key])))


if __name__ == "__main__":
    main()
