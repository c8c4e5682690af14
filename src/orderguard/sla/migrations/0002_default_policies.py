from django.db import migrations

# REQUIREMENTS.md S1 defaults; editable in admin afterwards.
DEFAULTS = [
    ("T1", "notify_merchant", 60, 15),
    ("T2", "contact_buyer", 120, 30),
    ("T3", "confirm_with_buyer", 120, 30),
    ("T4", "triage", 30, 10),
    ("T5", "assess_feasibility", 120, 30),
]


def seed(apps, schema_editor):
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    for case_type, step, minutes, warn in DEFAULTS:
        SlaPolicy.objects.get_or_create(
            case_type=case_type, step=step, defaults={"minutes": minutes, "warn_before_minutes": warn}
        )


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
