from django.db import migrations

# The deadline of the merchant's answer to a disputed SKU (T3, H3.2): an SLA policy row like
# sla/0002 and sla/0005 seed, kept beside the dispute it times (sla's own migrations belong to
# the deadline engine).


def seed(apps, schema_editor):
    # The merchant answers within 8 working hours; the clock runs while the case waits on it
    # (that wait is the step), and past it the deadline scan escalates every hour.
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    SlaPolicy.objects.get_or_create(
        case_type="T3",
        step="merchant_answer",
        defaults={"minutes": 480, "business_hours": True, "pause_while_waiting": False},
    )


def unseed(apps, schema_editor):
    apps.get_model("sla", "SlaPolicy").objects.filter(case_type="T3", step="merchant_answer").delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_sku_dispute"), ("sla", "0005_merchant_decision_policy")]
    operations = [migrations.RunPython(seed, unseed)]
