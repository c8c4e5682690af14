from django.db import migrations

from orderguard.core.sql import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_initial")]
    operations = [append_only_trigger("cases_caseevent")]
