from django.db import migrations


def seed(apps, schema_editor):
    # H1.2: the merchant decides within 4 working hours of the stock-out notice, else the case
    # escalates (team lead, then manager, every hour).
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    SlaPolicy.objects.get_or_create(
        case_type="T1",
        step="merchant_decision",
        defaults={"minutes": 240, "business_hours": True, "pause_while_waiting": False},
    )


def unseed(apps, schema_editor):
    apps.get_model("sla", "SlaPolicy").objects.filter(case_type="T1", step="merchant_decision").delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0004_business_hours_defaults")]
    operations = [migrations.RunPython(seed, unseed)]
