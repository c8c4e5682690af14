from django.db import migrations

# People's steps count working time (B1); an outage's triage is round the clock (on call).
PEOPLE_STEPS = [
    ("T1", "notify_merchant"),
    ("T2", "contact_buyer"),
    ("T3", "confirm_with_buyer"),
    ("T5", "assess_feasibility"),
]


def seed(apps, schema_editor):
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    for case_type, step in PEOPLE_STEPS:
        SlaPolicy.objects.filter(case_type=case_type, step=step).update(business_hours=True)
    WorkingCalendar = apps.get_model("sla", "WorkingCalendar")
    WorkingCalendar.objects.get_or_create(
        warehouse=None,
        name="默认工作日历",
        defaults={"day_starts": "09:00", "day_ends": "18:00", "follows_statutory": True},
    )


class Migration(migrations.Migration):
    dependencies = [("sla", "0003_deadline_engine")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
